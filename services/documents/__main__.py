from runtime.service import main
from services.documents.app import build

main(build)
