"""What the orders app tells the apps above it, which it never imports.

Receivers run synchronously, inside the transaction of the change and under
its order lock, so what they change commits or rolls back with it.
"""

from django.dispatch import Signal

#: Sent by `order_ship` after the order is shipped; arguments `order` and `actor`.
#: The claims app closes the buyer's cancel request: shipping is how a seller declines it.
order_shipped = Signal()
