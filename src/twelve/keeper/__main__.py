"""``python -m twelve.keeper --socket PATH``: the keeper process (see ``twelve.keeper``)."""

from twelve.keeper.server import main

raise SystemExit(main())
