# "Learning PyTorch with Examples": control flow and weight sharing (DynamicNet).
# The tutorial draws the number of extra layers with random.randint; the schedule here is
# fixed so that both libraries run the same graphs.
import math


class DynamicNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(INIT["a"]))
        self.b = torch.nn.Parameter(torch.tensor(INIT["b"]))
        self.c = torch.nn.Parameter(torch.tensor(INIT["c"]))
        self.d = torch.nn.Parameter(torch.tensor(INIT["d"]))
        self.e = torch.nn.Parameter(torch.tensor(INIT["e"]))

    def forward(self, x, extra):
        y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
        for exp in range(4, 4 + extra):
            y = y + self.e * x ** exp
        return y


x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
model = DynamicNet()
criterion = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.SGD(model.parameters(), lr=1e-9, momentum=0.9)
for t in range(300):
    y_pred = model(x, SCHEDULE[t % len(SCHEDULE)])
    loss = criterion(y_pred, y)
    if t % 60 == 59:
        print(t, loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print("e", round(model.e.item(), 6))
