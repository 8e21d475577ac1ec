width = 3
height = 4
area = None  # compute the area
