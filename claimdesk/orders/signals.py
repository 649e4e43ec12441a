"""What the orders app tells the apps above it, which it never imports.

Receivers run synchronously, inside the transaction of the change and under
its order lock, so what they change commits or rolls back with it.
"""

from django.dispatch import Signal

#: Sent by `order_ship` after the order is shipped; arguments `order` and `actor`.
#: The claims app closes the buyer's cancel request: shipping is how a seller declines it.
order_shipped = Signal()

#: Sent by `order_register_delay` after the new date is saved; arguments `order`,
#: `est_ship_date` (ISO date) and `memo`. The messaging app mails the buyer.
order_delayed = Signal()

#: Sent by `order_complete_trade` after the trade is complete; argument `order`.
#: The messaging app mails the shop.
trade_completed = Signal()

#: Sent when order-history lines are written (`orders.history`); argument `events`,
#: the saved `OrderEvent` rows. The messaging app turns them into webhook events.
order_events_recorded = Signal()
