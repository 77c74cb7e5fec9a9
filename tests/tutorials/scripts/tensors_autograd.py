# "Learning PyTorch with Examples": polynomial fit with raw tensors and autograd.
import math

x = torch.linspace(-math.pi, math.pi, 2000, dtype=torch.float32)
y = torch.sin(x)
a = torch.tensor(INIT["a"], requires_grad=True)
b = torch.tensor(INIT["b"], requires_grad=True)
c = torch.tensor(INIT["c"], requires_grad=True)
d = torch.tensor(INIT["d"], requires_grad=True)
learning_rate = 1e-6
for t in range(400):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()
    if t % 100 == 99:
        print(t, loss.item())
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None
print(f"Result: y = {a.item():.4f} + {b.item():.4f} x + {c.item():.4f} x^2 + {d.item():.4f} x^3")
