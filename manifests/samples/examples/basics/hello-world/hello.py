# BEGIN SOLUTION
print("Hello, World!")
# END SOLUTION
