"""maildoctor: why didn't the Lentrance mail arrive, and what should the customer do?"""

__version__ = "0.1.0"

__all__ = ["__version__"]
