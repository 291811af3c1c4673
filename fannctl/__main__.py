from fannctl.cli.main import main

main()
