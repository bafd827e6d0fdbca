from runtime.service import main
from services.payments.app import build

main(build)
