def area(width, height):
    # BEGIN SOLUTION
    return width * height
    # END SOLUTION
