from cmms.cli import main

main()
