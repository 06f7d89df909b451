import sys

from spark_jobs.main import main

sys.exit(main())
