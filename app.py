"""Start the staff web page: ``python app.py [--host 127.0.0.1] [--port 7860]``."""

import os
import sys

# Before gradio is imported anywhere: no usage analytics leave the machine.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from assistant.ui import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
