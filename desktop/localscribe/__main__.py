from localscribe.cli import main

raise SystemExit(main())
