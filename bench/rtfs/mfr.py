from functools import reduce
v = list(range(100000))
print(reduce(lambda a, b: a + b, filter(lambda x: x % 2 == 0, map(lambda x: x * 3, v)), 0))
