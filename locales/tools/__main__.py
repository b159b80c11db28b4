"""`python -m locales.tools update | check | todo | fill`."""

from locales.tools import main

raise SystemExit(main())
