select id, name, short_name, address, city, owner_kind::text, owner_name from sites order by id
