"""The in-app inbox: always on; a delivery is in the inbox the moment it is written."""

from safecampus.notify.transports import Message, Transport


class InboxTransport(Transport):
    kind = "inbox"

    def send(self, message: Message, address: str) -> None:
        """Nothing to send: the inbox page reads the delivery row itself."""
