from maildoctor.cli import main

main()
