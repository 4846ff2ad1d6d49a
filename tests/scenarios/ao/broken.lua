-- The top level raises before the receive loop starts: the process exits abnormally with the error.
Handlers.add("never", "Never", function() end)
error("the top level failed on purpose")
