import sys

from noisy_select.cli import main

sys.exit(main())
