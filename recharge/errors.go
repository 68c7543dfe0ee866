package recharge

import "im2pay/db"

// ErrNotFound is an order that is not there (or not the caller's): the
// store's own error, so errors.Is works whichever layer looked.
var ErrNotFound = db.ErrNotFound
