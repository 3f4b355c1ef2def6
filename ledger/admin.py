"""The ledger's entries are shown in the admin by ``cases.admin.LedgerEntryAdmin``: read-only for
everyone and scoped like the UI, which takes the cases' scope — something the ledger, the bottom
layer, does not know."""
