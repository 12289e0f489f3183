"""wahaweb: a self-hosted, multi-user web app for WhatsApp sessions on WAHA."""
