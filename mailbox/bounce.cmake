# Filled in by the bounce-parsing work.
