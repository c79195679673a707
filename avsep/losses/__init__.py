"""The papers' objectives, one module per method, each a small documented function (equation numbers in comments)."""
