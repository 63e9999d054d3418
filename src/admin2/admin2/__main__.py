from admin2.cli import main

main()
