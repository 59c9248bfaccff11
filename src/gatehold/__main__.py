from gatehold.cli import main

main()
