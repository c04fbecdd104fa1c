"""The DVC pipeline as code sees it: which project modules each stage runs, and the checks that
keep dvc.yaml's code dependencies equal to them."""
