"""The CRM adapters: Salesforce and HubSpot read as `bot.app.crm.CrmSource`s, and each
CRM's half of write-back as a `bot.outbox.engine.Sender`. They import the use cases,
never storage and never another adapter."""
