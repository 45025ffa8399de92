"""python -m liveslice"""

from liveslice.cli import main

main()
