from .cli import main

if __name__ == "__main__":  # `python -m journey_cli`
    main()
