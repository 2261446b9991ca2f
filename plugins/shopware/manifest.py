"""Write the Shopware app manifest for one merchant:

    python -m plugins.shopware.manifest --merchant 3333 > InvoiceKit/manifest.xml

The public URL and the app secret come from the instance's ``invoicekit.toml``
(``public_url``; ``app_secret`` under ``[platforms.shopware]``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from xml.sax.saxutils import escape

from core.config import load_settings
from plugins.shopware.registration import app_secret_for

TEMPLATE = Path(__file__).with_name("manifest.xml")


def render(public_url: str, merchant_id: int, app_secret: str) -> str:
    """The manifest with the kit's URL, the merchant and the merchant's app secret
    (:func:`plugins.shopware.registration.app_secret_for`) filled in."""
    return (TEMPLATE.read_text(encoding="utf-8")
            .replace("PUBLIC_URL", escape(public_url.rstrip("/")))
            .replace("MERCHANT_ID", str(merchant_id))
            .replace("APP_SECRET", escape(app_secret)))


def main() -> None:
    parser = argparse.ArgumentParser(description="Print the Shopware app manifest.")
    parser.add_argument("--merchant", type=int, required=True)
    args = parser.parse_args()
    settings = load_settings()
    app = settings.platforms.get("shopware", {})
    if not app.get("app_secret") or not app.get("app_name"):
        raise SystemExit("set app_name and app_secret under [platforms.shopware] in "
                         f"{settings.home / 'invoicekit.toml'} first")
    print(render(settings.public_url, args.merchant, app_secret_for(app, args.merchant)),
          end="")


if __name__ == "__main__":
    main()
