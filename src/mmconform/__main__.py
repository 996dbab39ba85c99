import sys

from mmconform.cli import main

sys.exit(main())
