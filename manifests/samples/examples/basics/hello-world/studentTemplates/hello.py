# Print the greeting here.
