"""`concord eval ask`: members' questions over the bundled sample, answered as `concord ask` answers them."""
