"""Renewal Registry (设备更新台账服务): equipment renewal ledgers, rule packs, imports and plans."""
