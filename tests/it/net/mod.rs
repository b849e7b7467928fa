mod shaping_proxy;
