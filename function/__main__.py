from function.main import main

main()
