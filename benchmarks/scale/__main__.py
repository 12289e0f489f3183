from benchmarks.scale.run import main

raise SystemExit(main())
