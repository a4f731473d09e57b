select code, name, short_name, kind::text, duration_minutes from services order by code
