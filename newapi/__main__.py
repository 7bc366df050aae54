from newapi.cli import main

raise SystemExit(main())
