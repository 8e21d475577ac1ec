width = 3
height = 4
# BEGIN SOLUTION
area = width * height
# END SOLUTION
