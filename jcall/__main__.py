from jcall.cli import main

main()
