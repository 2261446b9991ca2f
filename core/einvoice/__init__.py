"""E-invoices (EN 16931) for the local provider's invoices and credit notes: the UN/CEFACT
CII XML in the XRechnung profile (:mod:`core.einvoice.cii`), the merchant's seller details
it needs (:mod:`core.einvoice.seller`) and its check against the official rules
(:mod:`core.einvoice.validation`)."""
