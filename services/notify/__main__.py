from runtime.service import main
from services.notify.app import build

main(build)
