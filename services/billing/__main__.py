from runtime.service import main
from services.billing.app import build

main(build)
