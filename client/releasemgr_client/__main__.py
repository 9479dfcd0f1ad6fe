from releasemgr_client.cli import main

raise SystemExit(main())
