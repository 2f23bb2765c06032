from localscribe.cli import main

# Guarded: multiprocessing's spawn start method re-imports the main module in each worker.
if __name__ == "__main__":
    raise SystemExit(main())
