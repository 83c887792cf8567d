i, acc = 1, 0
while i <= 1000000:
    acc += i
    i += 1
print(acc)
