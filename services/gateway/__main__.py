from runtime.service import main
from services.gateway.app import build

main(build)
