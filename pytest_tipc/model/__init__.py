"""The first stage, what every later one shares: the parsed config with its line numbers
(:mod:`.config`, also the config file names), cells and steps (:mod:`.cells`), a ``gpu_list`` entry
(:mod:`.gpus`), command records (:mod:`.record`) and the Paddle 3 workarounds a user can name
(:mod:`.workarounds`). Imports nothing else of the package."""
